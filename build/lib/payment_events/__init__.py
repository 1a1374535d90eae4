"""The contract between the transaction API and the notification consumer.

The topic and this package are the services' whole interface: the event models, their wire
encoding (CloudEvents binary mode over Kafka), money rules and Kafka client settings.
"""

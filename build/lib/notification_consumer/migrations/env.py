from service_kit.migrate import run_env

run_env()

"""HTTP in and out: the payments routes and their request and response models."""

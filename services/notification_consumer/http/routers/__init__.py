"""One REST router per resource."""

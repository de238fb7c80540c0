"""Optional integrations with other Django projects; each is an app of its own."""

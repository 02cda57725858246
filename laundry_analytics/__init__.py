"""LaundryConnect analytics: settings, warehouse connection, ops schema, demo data and CLI."""

"""worktrack: PostgreSQL work tracking, SQL first."""

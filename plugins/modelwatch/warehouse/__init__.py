"""Everything that talks to the warehouse, through SQLAlchemy only."""

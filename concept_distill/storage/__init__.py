"""Where runs keep what a resume needs beyond their run directory: see `storage/postgres.py`.

Nothing is imported here, so reading a config never loads the PostgreSQL driver.
"""

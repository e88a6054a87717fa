"""digiKam: Keepers writes the sidecars digiKam reads (adapter.py, a host adapter plugin); db.py reads digikam4.db."""

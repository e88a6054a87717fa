"""digiKam: Keepers writes the sidecars digiKam reads (core/io/hosts.py DigikamAdapter); db.py reads digikam4.db."""

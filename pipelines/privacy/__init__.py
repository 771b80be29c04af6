"""Personal data: keyed pseudonyms before anything is written (pseudonyms.py, phone.py)."""

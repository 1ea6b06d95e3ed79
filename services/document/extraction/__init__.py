"""Asynchronous KYC extraction of uploaded documents (passport MRZ by OCR)."""

"""`rdv replay`: archived requests sent again through the real stack."""

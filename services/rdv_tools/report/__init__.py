"""`rdv report`: one self-contained HTML page from what the stack recorded."""

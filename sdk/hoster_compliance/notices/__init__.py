"""Notices from anyone (DSA Art. 16) and statements of reasons (Art. 17): PROTOCOL 10."""

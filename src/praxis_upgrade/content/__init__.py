"""Managed content: layout table, baseline, adoption, three-way plan, apply and merge."""

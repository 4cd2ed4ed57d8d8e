"""Repositories: the SQL of the services, one module per aggregate.

A repository function takes the connection (or the unit of work, for writes that must declare
their tables), runs its statements with any dialect branches they need, and answers rows or
plain values; the services keep the rules, the authorisation and the wire models.
"""

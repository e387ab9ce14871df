"""The division's statistics: how many children it serves, where, and with what support.

The statistics-checking centre and the joint conference ask for the children of each
population the division serves (orphans and abandoned children, disabled children, ...)
by district and area, month by month, and for the support recorded in the city's five
areas. Counts must agree with what the caseworkers see, so a population is never decided
here: it is a condition on the statuses the feature pipeline derives for the models
(``features.statuses``), read from a feature table built on the first day of each month.

- ``definitions``: what is counted (``default_statistics.toml``), checked when read;
- ``counts``: the counts, from a data folder's case histories;
- ``suppression``: the one rule by which a small count never leaves the software;
- ``exports``: CSV, an Excel workbook and PNG charts, in Chinese or English.
"""

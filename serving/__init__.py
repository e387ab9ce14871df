"""The service: a case-history store and the champion model in; scores explained, the
caseworkers' queue, decisions and the audit trail out, through an HTTP API, pages in
Chinese and English, and the `riskflag` command.

The domain (access, audit, risk, cases, the store) raises domain errors and knows no
HTTP; serving.api and serving.pages are two doors onto it that never import each other;
serving.app puts them together. docs/serving.md maps every module.
"""

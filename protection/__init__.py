"""Protection workflows: classification, 强制报告, 应急处置, 评估帮扶, 监护干预, agreements,
screening (预警排查), accountability and the reporting chain.

Workflow state lives in the relational store (transactions, deadlines, history); each record is
also projected into the graph so that profiles, row scope (a case's agency) and network queries
see it.
"""

"""The parts of ``ComplianceService`` (service.py), one group of use cases each: orders and
actions, notices, deliveries and alerts, reports and the audit trail. The service is composed of
them; callers use ``ComplianceService`` and never these classes."""

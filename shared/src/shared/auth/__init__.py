"""Identity: JWT verification, principals, capability expansion and checks (domain.md §10)."""

from shared.auth.principal import Principal, expand_capabilities
from shared.auth.tokens import TokenVerifier, issue_dev_token

__all__ = ["Principal", "TokenVerifier", "expand_capabilities", "issue_dev_token"]

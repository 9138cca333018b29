"""The one rule for a service's generated keys, whatever runs the service (local, ACI, AKS,
`mldeploy serve`): 40 letters and digits.

Letters and digits only: a key goes into an HTTP header and, escaped, into the gateway's nginx
map (contract.KEY_RE allows more for keys a user gives). 40 characters of 62 carry ~238 bits.
The two values found before (32 for local/ACI, 40 for AKS) became 40: the production services
(AKS) keep their keys; a dev/test ACI or local stack gets new keys once, as pulumi-random
replaces a RandomPassword whose length changes (terraform-provider-random, which pulumi-random
bridges: internal/provider/resource_password.go, passwordSchemaV3, `length` has
int64planmodifier.RequiresReplace())."""
from __future__ import annotations

import string

KEY_LENGTH = 40
KEY_ALPHABET = string.ascii_letters + string.digits

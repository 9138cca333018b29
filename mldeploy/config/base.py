"""Shared building blocks of the typed stack config: the strict base model and the Secret type."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Callable, ClassVar, Mapping

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic.functional_validators import PlainValidator
from pydantic_core import PydanticCustomError

from mldeploy.config.errors import shown
from mldeploy.nested import leaves

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _control_free(value: Any) -> None:
    """Raise for a control character (newline, tab, NUL, ESC...) in any string of `value`."""
    if any(isinstance(item, str) and _CONTROL.search(item) for item in leaves(value, keys=True)):
        raise ValueError("may not hold control characters (newline, tab, NUL, ...): values "
                         "land in Dockerfiles, nginx.conf, manifests and shell lines")


class Settings(BaseModel):
    """Base of every config object: camelCase keys, unknown keys refused, immutable, strict types
    (`"no"` is not a boolean, `true` is not a number, NaN is not a size)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        strict=True,
        allow_inf_nan=False,
    )
    # Keys a user brings from elsewhere (SDK v1's deploy_configuration) that this model spells or places
    # differently: camelCase key -> where it lives here. An unknown key found in it gets that sentence
    # instead of the closest spelling (config/load.py), which may be another setting altogether
    # (`authEnabled` -> "did you mean 'appInsightsEnabled'?" on a v2 endpoint).
    moved_keys: ClassVar[Mapping[str, str]] = {}

    def _only_in_another_mode(self, fields: set[str], rule: str, join: str = ", ") -> None:
        """ValueError for the keys among `fields` (field names) the stack file set, named as written
        (camelCase): "<keys> apply/applies <rule>" - for keys that mean something only in a mode
        this entry is not in."""
        given = sorted(fields & self.model_fields_set)
        if given:
            names = join.join(type(self).model_fields[n].alias or n for n in given)
            raise ValueError(f"{names} appl{'y' if len(given) > 1 else 'ies'} {rule}")

    @field_validator("description", mode="after", check_fields=False)
    @classmethod
    def _no_secret_in_free_text(cls, value: Any) -> Any:
        # Free text is shown to everyone who reads the resource; a value shaped like a credential
        # (a connection string's key, a URL with a password, a token) has no place in it.
        if isinstance(value, str) and _SECRET_VALUE.search(value):
            raise ValueError("holds what looks like a password, key or token in plain text (a connection string's key, a "
                             "URL with a password, a bearer or API token): descriptions are readable by anyone who "
                             "can read the resource")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        # The one rule against injection into every generated format: no config string (secrets
        # aside - PEM text has newlines, and secrets are never rendered as text) holds a control
        # character, so none can start a new Dockerfile instruction, nginx directive, YAML line
        # or shell command. Each renderer still quotes what its format needs quoted.
        _control_free(value)
        return value


class Secret:
    """A secret config value. Its text never shows in repr/str; components wrap it with
    `pulumi.Output.secret` the moment it enters the program."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret([secret])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecureValue:
    """A `secure:` leaf read from a stack file by `synth`. The ciphertext cannot be decrypted
    offline, so a stable placeholder stands in for it (it is masked in every output anyway)."""

    __slots__ = ("ciphertext",)

    def __init__(self, ciphertext: str):
        self.ciphertext = ciphertext

    def placeholder(self) -> str:
        return "synth-secret-" + hashlib.sha256(self.ciphertext.encode()).hexdigest()[:16]


def _to_secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, SecureValue):
        return Secret(value.placeholder())
    if isinstance(value, str):
        # From the Pulumi CLI a structured key holding a `secure:` leaf arrives decrypted, with
        # the whole top-level key marked secret; a plain value under a non-secret key is a
        # secret written in clear text, which we refuse.
        if (info.context or {}).get("secret_key"):
            return Secret(value)  # only a Pulumi config without its stack file (see load.py)
        raise ValueError(
            "must be a secret, not plain text: set it with "
            "`pulumi config set --secret --path '<this key>' <value>`"
        )
    raise ValueError("must be a secret string (a `secure:` value)")


SecretStr = Annotated[Secret, PlainValidator(_to_secret)]

Name = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"),
]
"""A resource name chosen by the user: lowercase letters, digits and '-', 2 to 32 characters,
starting with a letter (the strictest common rule across Azure ML and Kubernetes names)."""


# The reference grammar of distribution/reference (github.com/distribution/reference,
# regexp.go): [host[:port]/]path[:tag][@digest]. Anything else in a FROM line or a pod spec is
# refused here, so no value can smuggle a second Dockerfile instruction or YAML key.
_IMAGE_REF = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?)/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def _image_ref(value: str) -> str:
    if len(value) > 255 or not _IMAGE_REF.fullmatch(value):
        raise ValueError("must be a container image reference such as `python:3.11-slim` or "
                         "`myregistry.azurecr.io/team/base:1.0@sha256:<digest>`")
    return value


ImageRef = Annotated[str, AfterValidator(_image_ref)]
"""A container image reference (what FROM and a pod's `image:` accept)."""

# Azure tag rules (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources,
# "Limitations"; the ARM SDKs' `tags` docs: keys cannot contain < > % & \ ? /): names at most
# 512 characters, values at most 256. `mldeploy-` is ours: the policy pack reads those markers
# (tags.py), so a user tag may not set or fake them.
_TAG_FORBIDDEN = set('<>%&\\?/')
RESERVED_TAG_PREFIXES = ("mldeploy-",)


def _tags(value: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, text in value.items():
        # "Tag names are case-insensitive for operations" (tag-resources, "Limitations"): `Owner`
        # and `owner` are one tag, and Azure would keep either.
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ValueError(f"tag names {other!r} and {name!r} differ only in case; Azure tag names are "
                             "case-insensitive, so they are one tag")
        if not name or len(name) > 512 or _TAG_FORBIDDEN & set(name):
            raise ValueError(f"tag name {name!r}: 1-512 characters, none of < > % & \\ ? /")
        if name.lower().startswith(RESERVED_TAG_PREFIXES):
            raise ValueError(f"tag name {name!r} is reserved (prefixes: {', '.join(RESERVED_TAG_PREFIXES)}): "
                             "mldeploy sets its own markers")
        if len(text) > 256:
            raise ValueError(f"tag {name!r}: values are at most 256 characters")
        if looks_secret(name, text):
            raise ValueError(f"tag {name!r} holds a password, key or token in plain text: tags are readable by "
                             "anyone who can read the resource (Reader role) and are no place for a secret")
    return value


Tags = Annotated[dict[str, str], AfterValidator(_tags)]
"""User tags for Azure resources: Azure's limits, and mldeploy's own markers reserved."""

def listed_twice(values: list, key: Callable[[Any], Any] = lambda v: v) -> Any | None:
    """The first value written again in `values` (compared by `key`: a region without case and
    spaces, an origin without its default port), or None: the one check of every "list each once" key."""
    seen = set()
    for value in values:
        if key(value) in seen:
            return value
        seen.add(key(value))
    return None


def matching(pattern: str, rule: str) -> AfterValidator:
    """A string rule whose error says the rule in words (pydantic's says only the regex)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{shown(value)}: {rule}")
        return value

    return AfterValidator(check)


ResourceGroupName = Annotated[str, matching(r"[-\w.()]{0,89}[-\w()]", "a resource group name is 1-90 letters, digits, "
                                                                       "'_', '-', '.', '(' and ')', not ending in '.'")]
"""An Azure resource group name: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'."""

# ARM refuses a name with a reserved word for every resource "with an accessible endpoint, such as a fully
# qualified domain name" (Code=ReservedResourceName): the whole name one of the reserved words, MICROSOFT or
# WINDOWS anywhere in it, or a name starting with LOGIN (MicrosoftDocs/azure-docs, articles/azure-resource-manager/
# troubleshooting/error-reserved-resource-name.md, ms.date 04/05/2023). Compared case-insensitively.
RESERVED_RESOURCE_WORDS = frozenset({
    "access", "app_code", "app_themes", "app_data", "app_globalresources", "app_localresources", "app_webreferences",
    "app_browsers", "azure", "bing", "bizspark", "biztalk", "cortana", "directx", "dotnet", "dynamics", "excel",
    "exchange", "forefront", "groove", "hololens", "hyperv", "kinect", "lync", "msdn", "o365", "office", "office365",
    "onedrive", "onenote", "outlook", "powerpoint", "sharepoint", "skype", "visio", "visualstudio", "web.config", "xbox"})
RESERVED_RESOURCE_SUBSTRINGS = ("microsoft", "windows")
RESERVED_RESOURCE_PREFIX = "login"


def reserved_name_problem(name: str) -> str | None:
    """Why ARM refuses `name` for a resource with a public endpoint (a reserved or trademarked word), or None."""
    lowered = name.lower()
    word = next((w for w in RESERVED_RESOURCE_SUBSTRINGS if w in lowered), None)
    if lowered in RESERVED_RESOURCE_WORDS or word is not None or lowered.startswith(RESERVED_RESOURCE_PREFIX):
        what = (f"holds {word!r}" if word else "starts with 'login'" if lowered.startswith(RESERVED_RESOURCE_PREFIX)
                else "is a reserved word")
        return (f"{name!r} {what}: Azure refuses reserved and trademarked words in the names of resources with a "
                "public endpoint (ReservedResourceName: a reserved word such as azure or xbox as the whole name, "
                "'microsoft' or 'windows' anywhere, 'login' at the start)")
    return None


def _not_reserved(value: str) -> str:
    problem = reserved_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


NotReserved = AfterValidator(_not_reserved)
"""A name ARM accepts for a resource with a public endpoint (no reserved or trademarked word)."""

DnsLabel = Annotated[str, matching(r"[a-z][a-z0-9-]{1,61}[a-z0-9]", "a DNS label is 3-63 lowercase letters, digits "
                                   "and '-', starting with a letter and ending with a letter or digit (Azure's "
                                   "domainNameLabel rule)"), NotReserved]
"""A public DNS label (`<label>.<region>.cloudapp.azure.com`, `.azurecontainer.io`): 3-63 lowercase
letters, digits and '-', starting with a letter - the rule ARM states for a public IP's
`domainNameLabel`: `^[a-z][a-z0-9-]{1,61}[a-z0-9]$` (Microsoft's "ARM template best practices",
and Network's CheckDnsNameAvailability `domainNameLabel` parameter)."""

K8sName = Annotated[str, Field(max_length=253), matching(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
    "a Kubernetes object name is lowercase letters, digits, '-' and '.', starting and ending with a letter or "
    "digit (RFC 1123 subdomain, kubernetes.io/docs/concepts/overview/working-with-objects/names)")]
"""A Kubernetes object name (an RFC 1123 subdomain, at most 253 characters)."""

# POSIX's portable environment variable names ("Environment Variables", IEEE Std 1003.1: letters,
# digits and '_', not starting with a digit). Docker splits `NAME=value` at the first '=', the
# shell cannot export a name with '-', '.' or a leading digit, and Kubernetes (before 1.34's
# relaxed rule) refuses such names in a pod spec: the one portable rule for every target.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# Name parts that say "this value is a credential", and values that are one whatever their name
# (a storage/IoT Hub/SQL connection string's key or password, a SAS signature, a PEM block, a URL
# with a password, a bearer token or JWT, and the documented prefixes of common API tokens).
_SECRET_NAME_PARTS = {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "SECRETS", "TOKEN", "TOKENS", "APIKEY",
                      "CREDENTIAL", "CREDENTIALS", "CREDS", "PASSPHRASE", "JWT", "BEARER", "PAT", "SAS"}
_SECRET_NAME_PAIRS = {("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("ACCOUNT", "KEY"),
                      ("CLIENT", "SECRET"), ("CONNECTION", "STRING"), ("CONN", "STR"), ("CONN", "STRING"),
                      ("SAS", "TOKEN"), ("AUTH", "KEY"), ("PRIMARY", "KEY"), ("SECONDARY", "KEY"),
                      ("SHARED", "KEY"), ("STORAGE", "KEY"), ("SIGNING", "KEY"), ("MASTER", "KEY"),
                      ("SUBSCRIPTION", "KEY"), ("ENCRYPTION", "KEY"), ("SECRET", "KEY"), ("AUTH", "HEADER"),
                      # .NET's configuration names (`ConnectionStrings__Default`: ASP.NET Core reads connection
                      # strings from that section), an HTTP Basic credential, an HMAC's shared key.
                      ("CONNECTION", "STRINGS"), ("BASIC", "AUTH"), ("HMAC", "KEY"),
                      # A software licence key (the vendor's credential for the product), a TOTP seed (RFC 6238's
                      # shared secret K).
                      ("LICENSE", "KEY"), ("LICENCE", "KEY"), ("OTP", "SEED"), ("TOTP", "SEED")}
_SECRET_VALUE = re.compile(
    r"(AccountKey=|SharedAccessKey=|SharedAccessSignature|[?&]sig=|-----BEGIN |(^|;)\s*(Password|Pwd)\s*="
    # scheme://user:password@host, at the start or inside text ("uses https://u:p@db", a `--db=postgres://...` flag)
    r"|(^|[\s\"'(<\[=,;])[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@"
    # An Authorization header (the whole value one credential with a digit: "Basic regression model"
    # is prose, "Basic YWRtaW46aHVudGVyMg==" is not), a JWT.
    r"|^(?-i:Bearer|Basic)\s+(?=\S*\d)[\w.~+/-]{8,}=*$|^eyJ[\w-]{4,}\.eyJ[\w-]{4,}\."
    # GitHub (ghp_, gho_, ghs_, ghu_, github_pat_), Slack xox?-, GitLab glpat-, AWS access key ids: each
    # vendor's documented token prefix. OpenAI's sk- and Hugging Face's hf_ are followed by a long random
    # run (16+ letters and digits without a separator), which `sk-learn-ridge-2024` is not.
    r"|^(gh[opsu]_|github_pat_|xox[abposr]-|glpat-)[A-Za-z0-9_-]{10,}|^(AKIA|ASIA)[0-9A-Z]{16}$"
    r"|^(sk-|hf_)[A-Za-z0-9_-]*[A-Za-z0-9]{16}"
    # A password as a key=value pair of other connection-string forms: StackExchange.Redis's
    # `host:6380,password=...`, libpq's space-separated `host=db password=...`.
    r"|[,\s](Password|Pwd)\s*="
    # A credential in a URL's query (OAuth's access_token, API keys, an Azure Functions function key:
    # `https://<app>.azurewebsites.net/api/<fn>?code=<key>`), and webhook URLs whose path is the
    # credential (Slack incoming webhooks, Teams' webhook.office.com, Discord).
    r"|[?&](access_token|api[_-]?key|client_secret|password|passwd|pwd|token|secret)=[^&\s#]"
    r"|\.azurewebsites\.net/api/[^?\s]*\?([^#\s]*&)?code=[^&\s#]"
    r"|hooks\.slack\.com/services/|\.webhook\.office\.com/webhookb2/|discord(app)?\.com/api/webhooks/"
    # More vendors' documented key formats: Google API keys (AIza + 35), Stripe secret and restricted
    # keys, SendGrid (SG.<id>.<secret>), npm and PyPI tokens.
    r"|(?-i:^AIza[0-9A-Za-z_-]{35}$|^[sr]k_(live|test)_[0-9A-Za-z]{16,}|^SG\.[\w-]{16,}\.[\w-]{16,}"
    r"|^npm_[A-Za-z0-9]{36}$|^pypi-AgE[\w-]{20,}))",
    re.I)
# Secret words run together into one part (CLIENTSECRET, DBPASSWORD, SASTOKEN, STORAGEACCOUNTKEY) and
# the word for password in other languages (German Passwort/Kennwort, Dutch wachtwoord, Spanish
# contrasena, Portuguese senha, French mot de passe): a part ending in one of them names a secret.
_SECRET_SUFFIXES = ("PASSWORD", "PASSWD", "PASSWORT", "KENNWORT", "WACHTWOORD", "CONTRASENA", "SENHA", "MOTDEPASSE",
                    "SECRET", "TOKEN", "APIKEY", "ACCESSKEY", "ACCOUNTKEY", "SECRETKEY", "PRIVATEKEY", "MASTERKEY",
                    "AUTHKEY", "SHAREDKEY", "SIGNINGKEY", "CONNECTIONSTRING", "CONNSTRING", "CONNSTR", "PASSPHRASE",
                    "CREDENTIAL", "CREDENTIALS")
# A name ending in KEY ("OPENAI_KEY", "KEY") holding a random-looking value (letters and digits mixed, no
# spaces, a run of 16+ letters, digits, '+', '/', '=' without a separator): a key, where "MODEL_KEY:
# diabetes", "SORT_KEY: created_at" or "PARTITION_KEY: customer_id_2024_v1" are not.
_KEY_LIKE_VALUE = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9+/=_.-]*[A-Za-z0-9+/=]{16}[A-Za-z0-9+/=_.-]*$")
# A name whose last part says what the value points at or counts is not the credential itself, whatever
# comes before: DB_PASSWORD_FILE (Docker's *_FILE convention for a mounted secret), KEY_VAULT_SECRET_NAME
# (a Key Vault secret read by name), ENCRYPTION_KEY_ID, TOKEN_AUDIENCE / TOKEN_ISSUER (JWT validation),
# TOKENS_PER_MINUTE, PASS_THRESHOLD, `secretScope`, `--token-file`, `--api-key-env`. Its value is still
# checked for credential shapes (a URL with a password stays refused under any name).
_POINTER_PARTS = {"NAME", "NAMES", "ID", "IDS", "URI", "URL", "URLS", "ENDPOINT", "HOST", "FILE", "FILES", "PATH",
                  "DIR", "FOLDER", "VERSION", "TYPE", "KIND", "MODE", "FORMAT", "LENGTH", "LEN", "LIMIT", "COUNT",
                  "MAX", "MIN", "SIZE", "TTL", "TIMEOUT", "EXPIRY", "EXPIRES", "LIFETIME", "SECOND", "SECONDS",
                  "MINUTE", "MINUTES", "HOUR", "HOURS", "DAY", "DAYS", "ENABLED", "DISABLED", "AUDIENCE", "ISSUER",
                  "SCOPE", "SCOPES", "REGION", "LOCATION", "ENV", "VAR", "THRESHOLD", "RATE", "VAULT", "STORE",
                  "PROVIDER", "SOURCE", "FIELD", "COLUMN", "ROTATION"}
# An Application Insights connection string: "Ikey unique identifiers aren't security tokens or security
# keys, and aren't considered secrets" (learn.microsoft.com/azure/azure-monitor/app/connection-strings).
_APP_INSIGHTS = re.compile(r"^InstrumentationKey=[0-9a-fA-F-]{36}(;[A-Za-z]+=[^;]*)*;?$")


# A credential line of a config file pasted as one multi-line value (`kubernetes:kubeconfig`, an app's
# settings file): a kubeconfig's user entry authenticates with `client-key-data`, `token` or `password`
# (kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig; `kubectl config set-credentials`
# --client-key, --token, --password), a YAML/INI file with `password:`/`secret =` lines; a value that is a
# reference (`${DB_PASSWORD}`, `<set me>`) or empty is none.
_FILE_SECRET_LINE = re.compile(r"^[ \t-]*[\"']?(client-key-data|token|password|passwd|client[-_]?secret|api[-_]?key|"
                               r"secret)[\"']?[ \t]*[:=][ \t]*[\"']?[^\s\"'{}\[\]#$<][^\n]*$", re.I | re.M)


def looks_secret(name: str, value: str) -> bool:
    """True when `value` is a credential: a non-empty value under a password/token-like name, or a
    value that is one by its shape (connection-string key or password, SAS signature, PEM block, a
    URL with a password, a bearer token, a vendor's API token)."""
    if not value or re.fullmatch(r"[0-9]{1,6}|[0-9]+\.[0-9]+|true|false", value, re.I):
        return False  # a count, a fraction or a switch (MAX_TOKEN: "512", PASS_THRESHOLD: "0.75"), not a credential
    if _APP_INSIGHTS.match(value.strip()) and not _SECRET_VALUE.search(value.strip()):
        return False
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).upper()) if p]
    if value.isdigit() and {"MAX", "MIN", "NUM", "COUNT", "LIMIT", "SIZE", "PER", "TOTAL"} & set(parts):
        return False  # NUM_TOKENS: "12345678" is a count
    if parts == ["PWD"] and value.startswith("/"):
        return False  # the shell's working directory, not a password
    pointer = bool(parts) and parts[-1] in _POINTER_PARTS
    joined = "".join(parts)
    named = not pointer and (bool(_SECRET_NAME_PARTS & set(parts))
                             or any(pair in _SECRET_NAME_PAIRS for pair in zip(parts, parts[1:]))
                             or any(p.endswith(_SECRET_SUFFIXES) for p in parts)
                             or "MOTDEPASSE" in joined)
    key_like = bool(parts) and parts[-1] == "KEY" and bool(_KEY_LIKE_VALUE.match(value))
    in_file = "\n" in value.strip() and bool(_FILE_SECRET_LINE.search(value))
    return named or key_like or in_file or bool(_SECRET_VALUE.search(value.strip()))


# Environment variables the scorer's platform sets, which a user value would silently replace: the
# image's own (render/build_context.py: AZUREML_ENTRY_SCRIPT, AZUREML_MODEL_DIR - Azure ML's names, which
# azmlinfsrv reads - and mldeploy's MLDEPLOY_*), and the IoT Edge runtime's, which a module's SDK client
# reads to reach edgeHub (azure-iot-sdk-python, ModuleClient.create_from_edge_environment: IOTEDGE_IOTHUBHOSTNAME,
# IOTEDGE_DEVICEID, IOTEDGE_MODULEID, IOTEDGE_MODULEGENERATIONID, IOTEDGE_WORKLOADURI, IOTEDGE_APIVERSION;
# EdgeHubConnectionString and EdgeModuleCACertificateFile in the runtime's older scheme).
RESERVED_ENV_NAMES = ("AZUREML_ENTRY_SCRIPT", "AZUREML_MODEL_DIR", "EdgeHubConnectionString",
                      "EdgeModuleCACertificateFile")
RESERVED_ENV_PREFIXES = ("MLDEPLOY_", "IOTEDGE_")
# Variables the scoring image itself relies on (render/build_context.py): PATH puts the environment's bin
# first, so `python` of the CMD and HEALTHCHECK is the environment's; MAMBA_ROOT_PREFIX and MAMBA_USER are
# what micromamba's entrypoint activates and runs as; PYTHONHOME moves the standard library away from
# the interpreter; AML_APP_ROOT is azmlinfsrv's app folder (the entry script's, and the SDK v1 stand-in's on
# sys.path). A container's environment replaces the image's value, it is not merged: "The environment
# variables set using the env or envFrom field override any environment variables specified in the
# container image" (kubernetes.io/docs/tasks/inject-data-application/define-environment-variable-container);
# Docker's `--env` / createOptions `Env` the same ("docker run --env <key>=<value>" changes an ENV, Dockerfile
# reference, ENV). So `PATH: /usr/bin` leaves a scorer that cannot start.
IMAGE_ENV_NAMES = ("PATH", "PYTHONHOME", "MAMBA_ROOT_PREFIX", "MAMBA_USER", "AML_APP_ROOT")


def check_image_env_name(name: str) -> None:
    if name in IMAGE_ENV_NAMES:
        raise ValueError(f"environment variable {name!r} would replace the scoring image's own "
                         f"({', '.join(IMAGE_ENV_NAMES)}): a container's environment overrides the image's, "
                         "so the scorer would not find its Python, environment or app; remove it")


# Settings the scoring server reads from the environment as whole numbers: azureml-inference-server-http
# 1.5.1 starts gunicorn with `int(os.environ["WORKER_COUNT"])` (amlserver.py) and its gunicorn
# `timeout` from WORKER_TIMEOUT (seconds), and reads SCORING_TIMEOUT_MS into `scoring_timeout: int`
# (server/config.py, a pydantic setting): any other text stops the server before it serves
# (microsoft/azureml-inference-server, azureml_inference_server_http/amlserver.py and server/config.py).
# Name -> the least value it may take.
SERVER_INT_ENV = {"WORKER_COUNT": 1, "SCORING_TIMEOUT_MS": 1, "WORKER_TIMEOUT": 0}


# An error about one variable of an environment mapping: load.py (_first_error) names the variable in the
# error's key (`...environmentVariables.DB_PASSWORD`, `edge.<name>.env.LOG-LEVEL`), the key the user wrote,
# and puts that key where the message says `<this key>`.
ENV_VARIABLE_ERROR = "environment_variable"


def env_error(name: Any, message: str) -> PydanticCustomError:
    """The error of variable `name` of an `environmentVariables` (or `env`) mapping."""
    return PydanticCustomError(ENV_VARIABLE_ERROR, "{message}", {"variable": str(name), "message": message})


def _server_int_env(name: str, text: str) -> None:
    least = SERVER_INT_ENV.get(name)
    if least is not None and not (text.isascii() and text.isdigit() and int(text) >= least):
        raise env_error(name, f"environment variable {name!r} is {shown(text)}: the scoring server reads it as a "
                        f"whole number (at least {least}) and does not start with another value")


# Where a credential goes instead of a plain value, by the mapping it was written in (the `<this key>` of a
# message is the variable's own key: load.py).
PLAIN_SECRET_INSTEAD = ("keep the secret out of the stack file (e.g. a Key Vault reference read by the scoring "
                        "script)")
SCORER_SECRET_INSTEAD = (
    "keep the secret out of the stack file: make it a `secure:` value (`pulumi config set --secret --path "
    "'<this key>' <value>`; aci, aks, fpga, containerapp and local pass it as a secret); on a managed or "
    "kubernetes-endpoint deployment, a `${{keyvault:https://<vault>.vault.azure.net/secrets/<name>}}` reference in "
    "its deployments.<name>.environmentVariables (Azure ML's secret injection); elsewhere read it in init() from "
    "Azure Key Vault (azure-keyvault-secrets); the service's auth keys and TLS files are `keys` and `tls`, "
    "`secure:` values set with `pulumi config set --secret`")
# A batch deployment has no secret field: its `environmentVariables` are plain strings in its ARM properties
# (BatchDeploymentProperties, mfe.json), and Azure ML's secret injection is for online deployments only
# ("Secret injection in online endpoints", learn.microsoft.com/azure/machine-learning/concept-secret-injection).
# Microsoft's way for a job on a compute cluster is the Key Vault client library in the script, with the
# cluster's managed identity ("Use authentication credential secrets in Azure Machine Learning jobs",
# learn.microsoft.com/azure/machine-learning/how-to-use-secrets-in-runs).
BATCH_SECRET_INSTEAD = (
    "a batch deployment keeps no secret for its driver: its environmentVariables are plain text in its ARM "
    "properties, and Azure ML's secret injection (${{keyvault:...}}) is for online deployments only; read it in the "
    "driver's init() from Azure Key Vault with the compute cluster's managed identity (azure-keyvault-secrets, "
    "learn.microsoft.com/azure/machine-learning/how-to-use-secrets-in-runs) and keep only the vault's URL and the "
    "secret's name here")


def _env(value: dict[str, str], references: re.Pattern | None = None,
         instead: str = PLAIN_SECRET_INSTEAD) -> dict[str, str]:
    for name, text in value.items():
        if not isinstance(text, Secret):  # a `secure:` value: its name's rules only
            _server_int_env(name, text)
        if not ENV_NAME.fullmatch(name):
            raise env_error(name, f"environment variable name {name!r}: letters, digits and '_', not starting with a "
                            "digit (POSIX portable names; '=', '-', '.', spaces cannot be set in every target)")
        if name.upper() in {n.upper() for n in RESERVED_ENV_NAMES} or name.upper().startswith(RESERVED_ENV_PREFIXES):
            raise env_error(name, f"environment variable name {name!r} is reserved: the image or the platform sets it "
                            f"({', '.join(RESERVED_ENV_NAMES)}, {'*, '.join(RESERVED_ENV_PREFIXES)}*), so "
                            "the scorer would lose its model, entry script or connection")
        try:
            check_image_env_name(name)
        except ValueError as err:
            raise env_error(name, str(err)) from None
        if isinstance(text, Secret):
            continue
        if looks_secret(name, text) and not (references is not None and references.fullmatch(text.strip())):
            raise env_error(name, f"environment variable {name!r} holds a password, key or token in plain text: "
                            "environment values are written as plain text into the deployment (ARM template, "
                            f"Kubernetes manifest, IoT Edge manifest) and the synth output; {instead}")
    return value


# What mldeploy itself puts into a scorer's environment, on some target, and the key that decides it
# (plan/scorer.py, plan/timeouts.py, render/k8s_pod.py scorer_container, components/aci.py and
# containerapp.py telemetry, targets/online_endpoint/plan.py): a user's value would be replaced, or
# would replace mldeploy's and break the rule it encodes (the gateway's 504 before the scorer's limit).
SCORER_SET_ENV = {
    "WORKER_COUNT": "from workerCount (a v2 deployment: workerCount / maxConcurrentRequestsPerInstance): set that "
                    "key instead",
    "SCORING_TIMEOUT_MS": "from scoringTimeoutMs (the scorer's limit sits 1 s above the gateway's): set that key instead",
    "WORKER_TIMEOUT": "from scoringTimeoutMs (gunicorn's kill of a silent worker, beyond the scorer's limit): set that "
                      "key instead",
    **dict.fromkeys(("AML_APP_INSIGHTS_ENABLED", "AML_APP_INSIGHTS_KEY", "APPLICATIONINSIGHTS_CONNECTION_STRING"),
                    "from appInsightsEnabled: set that key instead"),
    "AML_MDC_STORAGE_ENABLED": "from collectModelData: set that key instead",
    "SERVICE_NAME": "to the service's name (an AKS pod's telemetry)",
    "SERVICE_VERSION": "to the image's tag (an AKS pod's telemetry)",
    "WORKSPACE_NAME": "to the stack's workspace (an AKS pod's telemetry)",
    "HOME": "to /tmp (an AKS pod's root filesystem is read-only)",
}
# Prefixes of the same: Azure ML's platform and azmlinfsrv (AZUREML_MODEL_DIR, AZUREML_ENTRY_SCRIPT,
# AZUREML_MDC_*), mldeploy's own scorer settings (MLDEPLOY_*: batching, gateway timeout, drain), the IoT
# Edge runtime's (IOTEDGE_*).
SCORER_SET_PREFIXES = ("AZUREML_", "MLDEPLOY_", "IOTEDGE_")


def _scorer_env(value: dict[str, str], instead: str = SCORER_SECRET_INSTEAD) -> dict[str, str]:
    """A scorer's environment as a stack sets it on an image, a service or a batch entry."""
    for name in value:
        if not ENV_NAME.fullmatch(name):
            raise env_error(name, f"environment variable name {name!r}: letters, digits and '_', not starting with a "
                            "digit (POSIX portable names; '=', '-', '.', spaces cannot be set in every target)")
        upper = name.upper()
        if upper in SCORER_SET_ENV:
            raise env_error(name, f"environment variable {name!r} is set by mldeploy {SCORER_SET_ENV[upper]}; "
                            "remove it")
        if upper.startswith(SCORER_SET_PREFIXES):
            raise env_error(name, f"environment variable {name!r}: names starting {', '.join(SCORER_SET_PREFIXES)} "
                            "are set by Azure ML, mldeploy or the IoT Edge runtime (the model's folder, the entry "
                            "script, batching, the gateway's timeout); choose another name")
    return _env(value, instead=instead)


def _string_values(value: Any) -> Any:
    # YAML reads `OMP_NUM_THREADS: 4` as a number and `DEBUG: true` as a boolean; a container's environment
    # holds text only, and guessing the text (4.0? True? yes?) would put another value into the scorer.
    if isinstance(value, dict):
        for name, text in value.items():
            if isinstance(text, (bool, int, float)):
                quoted = json.dumps(text)
                raise env_error(name, f"environment variable {name!r} is {quoted}, which YAML reads as a "
                                f"{'boolean' if isinstance(text, bool) else 'number'}: values are strings; quote "
                                f"it ({name}: \"{quoted}\")")
    return value


def _no_secure_values(instead: str) -> Callable[[Any], Any]:
    """Refuse a `secure:` value (read offline: SecureValue; under the Pulumi CLI: a Secret, load.py
    mark_secure_leaves) where the mapping's target has no secret field; `instead` says why and what to use."""
    def check(value: Any) -> Any:
        value = _string_values(value)
        if isinstance(value, dict):
            for name, text in value.items():
                if isinstance(text, (SecureValue, Secret)):
                    raise env_error(name, f"a `secure:` value cannot be kept secret here: {instead}")
        return value
    return check


def env_vars(secure_instead: str, references: re.Pattern | None = None,
             plain_instead: str = PLAIN_SECRET_INSTEAD) -> Any:
    """A container's extra environment where no value may be a secret: portable names, string values, no
    credential in plain text and no `secure:` value (`secure_instead`: why not, and what to use). A value that
    is wholly a reference the platform resolves (`references`, e.g. Azure ML's secret injection) stands in
    for a secret under a secret's name."""
    return Annotated[dict[str, str], BeforeValidator(_no_secure_values(secure_instead)),
                     AfterValidator(lambda value: _env(value, references, plain_instead))]


ScorerEnvVars = Annotated[dict[str, str], BeforeValidator(_no_secure_values(BATCH_SECRET_INSTEAD)),
                          AfterValidator(lambda value: _scorer_env(value, BATCH_SECRET_INSTEAD))]
"""`environmentVariables` of a batch entry: none of the names mldeploy sets, and no `secure:` value (a batch
deployment has no secret field: BATCH_SECRET_INSTEAD)."""


def _secure_values(value: Any) -> Any:
    """`secure:` leaves of an image's or a service's environmentVariables become `Secret` (a stack file
    read offline: the ciphertext's placeholder; under the Pulumi CLI: the decrypted text, marked by
    load.py mark_secure_leaves); any other mapping or list is no value."""
    value = _string_values(value)
    if not isinstance(value, dict):
        return value
    out: dict[Any, Any] = {}
    for name, text in value.items():
        if isinstance(text, SecureValue):
            text = Secret(text.placeholder())
        elif isinstance(text, dict):
            raise env_error(name, f"environment variable {name!r} is {shown(text)}: a value is a string, or a "
                            "secret written by `pulumi config set --secret --path '<this key>' <value>` (the stack "
                            "file then holds `" + name + ": {secure: <ciphertext>}`)")
        out[name] = text
    return out


def _secret_or_str(value: Any) -> Any:
    if isinstance(value, (str, Secret)):
        return value
    # pydantic's own error for a non-string, so the message reads as for every string setting.
    raise PydanticCustomError("string_type", "Input should be a valid string")


EnvValue = Annotated[Any, PlainValidator(_secret_or_str)]
SecretScorerEnvVars = Annotated[dict[str, EnvValue], BeforeValidator(_secure_values), AfterValidator(_scorer_env)]
"""`environmentVariables` of an image or a service: ScorerEnvVars, and a value may be a `secure:` one
(`Secret`): ACI secureValue, a Kubernetes Secret by secretKeyRef, a Container Apps secretRef, the
local scorer's process environment (mldeploy/plan/secret_env.py says where else it is refused)."""


# "Kubernetes doesn't allow you to specify CPU resources with a precision finer than 1m or 0.001 CPU"
# (kubernetes.io/docs/concepts/configuration/manage-resources-containers, "CPU resource units"). mldeploy
# writes a pod's CPU as whole millicores (`round(cpuCores * 1000)m`), so a finer cpuCores would be
# rounded silently - 0.0004 to `0m`, a container asking for no CPU at all.
def kubernetes_cpu_problem(cpu_cores: float) -> str | None:
    """Why `cpu_cores` is no Kubernetes CPU quantity (finer than 1m), or None."""
    milli = cpu_cores * 1000
    if abs(milli - round(milli)) > 1e-6 or round(milli) < 1:
        return (f"{cpu_cores:g} is finer than Kubernetes' CPU precision, 1m (0.001 CPU): use whole thousandths "
                f"of a core, at least 0.001 (e.g. {max(round(milli), 1) / 1000:g})")
    return None

# From github.com/Azure/azureml-examples cli/endpoints/online/custom-container/advanced-byoc-multimodel/code/model/__init__.py
# at commit aac6309c0c373d222f6a3819d00c57768a115842 (MIT License, Copyright (c) Microsoft Corporation). Unchanged below.
__all__ = ["gpt", "opt"]

from . import gpt
from . import opt 

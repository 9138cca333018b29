"""The scoring process: what runs inside every scoring image (and `mldeploy serve`'s scorer).

Its modules are copied into each build context and run by the scoring environment's Python,
where mldeploy is not installed: they import only the standard library and the scoring
server's own packages, never anything of mldeploy (an import contract checks it). The render
layer reads them as files; the local runtime runs them.
"""

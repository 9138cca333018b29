# Stand-in for github.com/Azure/azureml-examples cli/endpoints/online/custom-container/advanced-byoc-multimodel/code/model/opt.py (commit aac6309c0c373d222f6a3819d00c57768a115842), which
# loads a transformers checkpoint: the same get_callable_cpu(root_model_dir), a tiny "generator".
def get_callable_cpu(root_model_dir):
    marker = (root_model_dir / "opt" / "weights.txt").read_text().strip()
    return lambda text: [{"generated_text": f"{text} [opt {marker}]"}]

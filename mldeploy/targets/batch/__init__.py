"""`batch:`: Azure ML batch endpoints scoring files on a compute cluster. Everything particular to
the target lives in this package (config model, plan, program step, mocks, its own command
`mldeploy batch`); its ComponentResource is components/batch.py, its plan types mldeploy/plan/batch.py."""
from mldeploy.targets.batch.command import COMMAND
from mldeploy.targets.batch.config import BatchSettings
from mldeploy.targets.batch.mocks import MOCKS
from mldeploy.targets.target import StartingPoint, Target


def deploy(name: str, entry, foundation):
    """The program step (Pulumi and the components load only when the program runs)."""
    from mldeploy.targets.batch.program import deploy_batch
    return deploy_batch(name, entry, foundation)


def elsewhere(stack: str, name: str, entry) -> str:
    """What runs a batch entry on this machine: its own command (serve, test and logs run services)."""
    return (f"batch entry {name!r} is a job, not a service: run its driver here with "
            f"`mldeploy batch --stack {stack} --name {name} --input <folder> --output <file>`")


TARGET = Target(name="batch", section="batch", description="batch scoring on Azure ML compute",
                settings=BatchSettings, deploy=deploy, mocks=MOCKS, command=COMMAND, elsewhere=elsewhere,
                starting_point=StartingPoint(
                    "batch", order=7, by_default=False, kinds=("pickle",),
                    files=(("batch_score.py", "batch_score.py.tmpl"), ("batch-env.yml", "batch-env.yml.tmpl"),
                           ("batch-input/sample.csv", "batch-input.csv.tmpl"))))

"""`batch:`: Azure ML batch endpoints scoring files on a compute cluster."""
from mldeploy.config.batch import BatchSettings
from mldeploy.program.batch import deploy_batch
from mldeploy.targets.batch.mocks import MOCKS
from mldeploy.targets.target import Target

TARGET = Target(name="batch", section="batch", settings=BatchSettings, deploy=deploy_batch, mocks=MOCKS)

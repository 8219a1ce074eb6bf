# The init image of deploy/base: Splice's model repository templates and the scripts that render and
# check them (standard library only). Build from the repository root:
#   docker build -f deploy/model-repository.Dockerfile -t splice/model-repository:VERSION .
FROM python:3.12-slim
COPY triton_models /splice/triton_models
COPY scripts/_venv.py scripts/render-trtllm scripts/check-trtllm-deployment /splice/scripts/

"""ci-jobs: a self-hosted media-processing job server speaking the Tencent Cloud Infinite XML job API."""

__version__ = "0.1.0"

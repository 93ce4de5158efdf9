# formdigits: one image for the web process and the workers (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FORMDIGITS_DATA_DIR=/data \
    FORMDIGITS_WEIGHTS=/app/weights/digitnet.pt

WORKDIR /app

# The CPU build of torch from PyTorch's CPU index first: PyPI's default torch wheel is a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md ./
COPY formdigits ./formdigits
COPY segmentation ./segmentation
COPY recognition ./recognition
COPY worker ./worker
COPY webui ./webui
COPY weights ./weights
RUN pip install .

# Run as an unprivileged user; /data is the only writable place it needs.
RUN useradd --create-home --uid 10001 formdigits && mkdir -p /data && chown formdigits /data
USER formdigits

EXPOSE 8000
CMD ["formdigits", "serve", "--host", "0.0.0.0", "--port", "8000"]

# worktrack API image: the package, its migrations and yoyo.ini (for the migrate job).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md yoyo.ini ./
COPY service ./service
COPY migrations ./migrations
COPY sql ./sql
RUN pip install . && useradd --create-home --uid 10001 worktrack
USER worktrack

EXPOSE 8000
CMD ["worktrack", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]

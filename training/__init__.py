"""Training, evaluation and export (ultralytics + torch). Never imported by edge boxes."""

def env: $ENV;

# EmboFlow's one image: the API by default, the worker with `node dist/src/cli/worker.js` (see docker-compose.yml).
#   docker build -t emboflow:local .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
# The worker bundles dist/workflows at start-up, so compiled JavaScript is all it needs, no TypeScript.
COPY --from=build /app/dist ./dist
# Imported as JSON: tsc emits it into dist too, and anything resolving the source path finds it here.
COPY src/temporal/search-attributes.json ./src/temporal/search-attributes.json
# The base image's unprivileged user; the worker reaches the Docker socket through group_add in the compose file.
USER node
EXPOSE 8080
CMD ["node", "dist/src/cli/api.js"]

// The layers' import rule: gateway → handlers → core → protocol, one way only, and no socket below gateway/.
// eslint.config.mjs applies it; tests/ops/layers.test.ts shows that it refuses a back-edge.

/** A relative import of a top-level folder, from any depth: "../gateway/config", "../../handlers". */
const folder = (name) => [`**/${name}`, `**/${name}/**`];
const SOCKETS = ['ws', 'ioredis', 'node:http', 'node:https', 'node:net', 'node:tls', 'http', 'net'];

/** Each layer and what it may not import. */
export const LAYERS = [
  { files: ['protocol/**/*.ts'], above: ['core', 'handlers', 'gateway', 'client', 'load', 'bench', 'page'] },
  { files: ['core/**/*.ts'], above: ['handlers', 'gateway', 'client', 'load', 'bench', 'page'] },
  { files: ['handlers/**/*.ts'], above: ['gateway', 'client', 'load', 'bench', 'page'] },
  { files: ['client/**/*.ts'], above: ['core', 'handlers', 'gateway', 'load', 'bench'] },
];

export const layerRules = LAYERS.map(({ files, above }) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: above.flatMap(folder),
            message: 'imports run one way: gateway → handlers → core → protocol (see README, Layout)',
          },
        ],
        ...(files[0].startsWith('client') || files[0].startsWith('protocol')
          ? {}
          : {
              paths: SOCKETS.map((name) => ({
                name,
                message: 'the domain and the handlers never touch a socket or a store client: gateway/ does',
              })),
            }),
      },
    ],
  },
}));

// Lint, including the rooms' import doors of DESIGN.md: a room may import only
// the rooms its row names; `cli/` is the only composition root.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOMS = ['core', 'protocol', 'control', 'tracker', 'peer', 'broadcast', 'store', 'web', 'cli'];
const MAY_IMPORT = {
  core: [],
  protocol: ['core'],
  control: ['core', 'protocol'],
  tracker: ['core', 'protocol'],
  peer: ['core', 'protocol'],
  broadcast: ['core', 'protocol', 'peer'],
  store: ['core'],
  web: [],
};

const doors = Object.entries(MAY_IMPORT).map(([room, allowed]) => {
  const forbidden = ROOMS.filter((r) => r !== room && !allowed.includes(r));
  return {
    files: [`src/${room}/**/*.ts`, `src/${room}/**/*.js`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((r) => ({
            group: [`**/${r}/*`, `**/${r}`],
            message: `src/${room}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (DESIGN.md rooms)`,
          })),
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['scratch/**', 'node_modules/**', 'dist/**', 'bench/results/**', 'src/web/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...doors,
);

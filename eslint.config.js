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

// core/ and protocol/ are pure (DESIGN.md): no sockets, no files, no processes. Their types may still name
// these modules' types (a type-only import leaves nothing at run time); cli/ makes the real things and hands them in.
const IO_MODULES = ['node:net', 'node:http', 'node:https', 'node:tls', 'node:fs', 'node:dgram', 'node:child_process', 'undici', 'ws'];
const PURE_ROOMS = ['core', 'protocol'];

const doors = Object.entries(MAY_IMPORT).map(([room, allowed]) => {
  const forbidden = ROOMS.filter((r) => r !== room && !allowed.includes(r));
  const io = PURE_ROOMS.includes(room)
    ? IO_MODULES.flatMap((name) => [name, ...(name.startsWith('node:') ? [name.slice(5)] : [])]).map((name) => ({
        name,
        allowTypeImports: true,
        message: `src/${room}/ is pure (DESIGN.md rooms): no sockets, files or processes; take the collaborator as a parameter (cli/ makes it)`,
      }))
    : [];
  return {
    files: [`src/${room}/**/*.ts`, `src/${room}/**/*.js`],
    rules: {
      // typescript-eslint's version of the rule: it knows type-only imports.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: io,
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

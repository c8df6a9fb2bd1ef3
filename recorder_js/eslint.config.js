// ESLint flat config for the in-page recorder (`npm run lint`, zero warnings allowed).
// CommonJS because package.json has no "type": the sources are ES modules only to esbuild.
const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  js.configs.recommended,
  {
    files: ['src/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
  },
];

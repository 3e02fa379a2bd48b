export const message = 'hmr-before'

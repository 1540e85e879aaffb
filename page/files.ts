// The reset page's built files: what page/build.ts writes and gateway/server/reset-page.ts serves, named once.
export const PAGE_FILES = { html: 'reset.html', script: 'app.js', style: 'app.css' } as const;

export * from './keystore.js';
export * from './client.js';
export * from './screen.js';
export * from './listen.js';
export { VERSION } from './version.js';

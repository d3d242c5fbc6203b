// Vite bundles imported stylesheets; TypeScript needs to know they are modules.
declare module "*.css";

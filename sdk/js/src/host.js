// The host functions, as the SDK's other modules reach them: `#host` is fake-host.js under
// Node and host.component.js in a component (package.json "imports", condition
// "campanile-component", which the build sets).
export * from "#host";

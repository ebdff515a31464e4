// the Django stack's one front-end asset, collected with a hashed name (ManifestStaticFilesStorage)
console.log("parity");

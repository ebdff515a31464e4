// An Express app as its team writes it: express-session keeping sessions in Redis through
// connect-redis, csrf-sync's synchronizer tokens on the login form, every write and the logout,
// the session regenerated at login. Socket.IO on the same server shares the session
// (io.engine.use) and broadcasts through its Redis adapter, as its documentation shows; with
// REALTIME_ADAPTER=memory it keeps the default in-memory adapter, as a team that forgot it.
// Settings from the environment; one instance per process.
"use strict";

const http = require("node:http");
const express = require("express");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const session = require("express-session");
const { RedisStore } = require("connect-redis");
const { createClient } = require("redis");
const { csrfSync } = require("csrf-sync");

const env = process.env;
const redis = createClient({ url: env.REDIS_URL });
redis.on("error", (err) => console.error("redis:", err.message));

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => (req.body && req.body._csrf) || req.headers["x-csrf-token"],
});

const app = express();
app.use((req, res, next) => {
  res.set("X-Instance-Id", env.INSTANCE_ID);
  next();
});
app.get("/healthz", (req, res) => res.status(204).end());
app.use(express.urlencoded({ extended: false }));
app.use(express.json());
const sessions = session({
  store: new RedisStore({ client: redis }),
  secret: env.SESSION_SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: "lax", maxAge: 14 * 24 * 3600 * 1000 },
});
app.use(sessions);

function loginRequired(req, res, next) {
  if (!req.session.user) return res.status(401).json({ error: "login required" });
  return next();
}

app.get("/login", (req, res) => {
  res.type("html").send(`<!doctype html>
<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${generateToken(req)}">
  <input name="username"> <input name="password" type="password"> <button>Log in</button>
</form>`);
});

app.post("/login", csrfSynchronisedProtection, (req, res, next) => {
  if (req.body.username !== env.APP_USERNAME || req.body.password !== env.APP_PASSWORD) {
    return res.status(401).send("bad credentials");
  }
  return req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = env.APP_USERNAME;
    return res.redirect(302, "/notes");
  });
});

app.put("/notes/:key", loginRequired, csrfSynchronisedProtection, (req, res) => {
  req.session.data = { ...(req.session.data || {}), [req.params.key]: req.body.value };
  res.json({ ok: true });
});

app.get("/notes", loginRequired, (req, res) => {
  res.json({ user: req.session.user, data: req.session.data || {} });
});

app.post("/logout", loginRequired, csrfSynchronisedProtection, (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err);
    res.clearCookie("connect.sid");
    return res.redirect(302, "/login");
  });
});

const server = http.createServer(app);
const io = new Server(server);
io.engine.use(sessions);
io.engine.on("headers", (headers) => {
  headers["X-Instance-Id"] = env.INSTANCE_ID;
});
io.use((socket, next) => {
  const user = socket.request.session && socket.request.session.user;
  return user ? next() : next(new Error("login required"));
});
io.on("connection", (socket) => {
  socket.emit("hello", { instance: env.INSTANCE_ID, user: socket.request.session.user });
  socket.on("chat", (text) => {
    io.emit("message", { text: String(text), published_on: env.INSTANCE_ID });
  });
});

async function start() {
  await redis.connect();
  if (env.REALTIME_ADAPTER !== "memory") {
    const pub = redis.duplicate();
    const sub = redis.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  server.listen(Number(env.PORT), "127.0.0.1", () => console.log(`${env.INSTANCE_ID} on ${env.PORT}`));
}

start();

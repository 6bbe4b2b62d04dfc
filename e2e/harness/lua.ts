// Runs an Argo CD resource health script the way Argo CD does (util/lua): the object as the global `obj` (JSON
// objects become tables, arrays 1-based tables), only the base, table, string and math libraries, and a result
// table { status, message } whose status must be one Argo CD knows. Lua 5.3 (fengari) here, gopher-lua (5.1) in
// Argo CD: the scripts keep to what both share.
import { readFileSync } from 'node:fs';
import fengari from 'fengari';

const { lua, lauxlib, lualib, to_luastring: s } = fengari;
type LuaState = ReturnType<typeof lauxlib.luaL_newstate>;

export const healthStatuses = [
  'Healthy',
  'Progressing',
  'Degraded',
  'Suspended',
  'Missing',
  'Unknown',
] as const;
export interface Health {
  status: (typeof healthStatuses)[number];
  message?: string;
}

export function runHealthScript(scriptPath: string, obj: unknown): Health {
  const L = lauxlib.luaL_newstate();
  try {
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
    ] as const) {
      lauxlib.luaL_requiref(L, s(name), open, 1);
      lua.lua_pop(L, 1);
    }
    push(L, obj);
    lua.lua_setglobal(L, s('obj'));
    const code = s(readFileSync(scriptPath, 'utf8'));
    if (lauxlib.luaL_loadbuffer(L, code, null, s(`@${scriptPath}`)) !== lua.LUA_OK) {
      throw new Error(`${scriptPath}: ${lua.lua_tojsstring(L, -1)}`);
    }
    if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK)
      throw new Error(`${scriptPath}: ${lua.lua_tojsstring(L, -1)}`);
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) throw new Error(`${scriptPath} did not return a table`);
    const field = (key: string) => {
      const type = lua.lua_getfield(L, -1, s(key));
      const value = type === lua.LUA_TNIL ? undefined : (lua.lua_tojsstring(L, -1) ?? undefined);
      lua.lua_pop(L, 1);
      return value;
    };
    const status = field('status');
    if (!healthStatuses.includes(status as Health['status'])) {
      throw new Error(`${scriptPath} returned status ${JSON.stringify(status)}, which Argo CD rejects`);
    }
    const message = field('message');
    return { status: status as Health['status'], ...(message === undefined ? {} : { message }) };
  } finally {
    lua.lua_close(L);
  }
}

/** Pushes a JSON value as Argo CD's decodeValue does; integers stay integers so messages print "2", not "2.0". */
function push(L: LuaState, value: unknown): void {
  if (value === null || value === undefined) lua.lua_pushnil(L);
  else if (typeof value === 'boolean') lua.lua_pushboolean(L, value);
  else if (typeof value === 'number' && Number.isInteger(value)) lua.lua_pushinteger(L, value);
  else if (typeof value === 'number') lua.lua_pushnumber(L, value);
  else if (typeof value === 'string') lua.lua_pushstring(L, s(value));
  else if (Array.isArray(value)) {
    lua.lua_newtable(L);
    value.forEach((item, i) => {
      push(L, item);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else {
    lua.lua_newtable(L);
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === null || item === undefined) continue;
      push(L, item);
      lua.lua_setfield(L, -2, s(key));
    }
  }
}

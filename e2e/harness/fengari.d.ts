// The part of fengari (Lua 5.3 in JavaScript; no types of its own) that the Lua health-check runner uses.
declare module 'fengari' {
  type LuaState = { readonly __brand: 'lua_State' };
  type LuaString = Uint8Array;
  type OpenLib = (L: LuaState) => number;
  const fengari: {
    to_luastring: (s: string) => LuaString;
    lua: {
      LUA_OK: number;
      LUA_TNIL: number;
      LUA_TTABLE: number;
      lua_close: (L: LuaState) => void;
      lua_getfield: (L: LuaState, index: number, key: LuaString) => number;
      lua_newtable: (L: LuaState) => void;
      lua_pcall: (L: LuaState, nargs: number, nresults: number, msgh: number) => number;
      lua_pop: (L: LuaState, n: number) => void;
      lua_pushboolean: (L: LuaState, b: boolean) => void;
      lua_pushinteger: (L: LuaState, n: number) => void;
      lua_pushnil: (L: LuaState) => void;
      lua_pushnumber: (L: LuaState, n: number) => void;
      lua_pushstring: (L: LuaState, s: LuaString) => void;
      lua_rawseti: (L: LuaState, index: number, i: number) => void;
      lua_setfield: (L: LuaState, index: number, key: LuaString) => void;
      lua_setglobal: (L: LuaState, name: LuaString) => void;
      lua_tojsstring: (L: LuaState, index: number) => string | null;
      lua_type: (L: LuaState, index: number) => number;
    };
    lauxlib: {
      luaL_newstate: () => LuaState;
      luaL_loadbuffer: (L: LuaState, buffer: LuaString, size: number | null, name: LuaString) => number;
      luaL_requiref: (L: LuaState, name: LuaString, open: OpenLib, global: number) => void;
    };
    lualib: {
      luaopen_base: OpenLib;
      luaopen_math: OpenLib;
      luaopen_string: OpenLib;
      luaopen_table: OpenLib;
    };
  };
  export default fengari;
}

// The shop's Knex configuration. ESM: the repository's package.json says "type": "module".
export default {
  development: {
    client: 'pg',
    connection: process.env.DATABASE_URL,
    migrations: { directory: './migrations' },
    seeds: { directory: './seeds' },
  },
};

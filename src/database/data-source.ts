import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { loadDotEnv } from '../config/load-env';
import { dataSourceOptions } from './database-options';

loadDotEnv();

/** For the TypeORM CLI: `npx typeorm -d dist/src/database/data-source.js migration:show`. */
export default new DataSource(dataSourceOptions(loadConfig().DATABASE_URL));

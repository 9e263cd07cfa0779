// Data catalog: assets.
import type { Collection, Db } from 'mongodb';
import type { AssetDoc } from '../domain/catalog';
import { platformCollection } from './common';

/** What a docker node's context describes of each input asset. */
export type StagedAsset = Pick<AssetDoc, '_id' | 'type' | 'displayName' | 'sizeBytes' | 'storageRef'>;

export class AssetRepository {
  private readonly assets: Collection<AssetDoc>;

  constructor(db: Db) {
    this.assets = platformCollection(db, 'assets');
  }

  /** The workspace's assets among `assetIds`, with what a node needs to find their bytes. */
  findForStaging(assetIds: string[], workspaceId: string): Promise<StagedAsset[]> {
    return this.assets
      .find(
        { _id: { $in: assetIds }, workspaceId },
        { projection: { storageRef: 1, type: 1, displayName: 1, sizeBytes: 1 } },
      )
      .toArray();
  }
}

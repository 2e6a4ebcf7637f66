"""Source readers: YOLO (txt + data.yaml), COCO JSON, Pascal VOC XML -> `RawSource` -> items."""
